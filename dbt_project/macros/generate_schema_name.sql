{#- Layers live in schemas named after them (staging, intermediate, marts, snapshots), not in
    "<target schema>_<custom schema>": the roles and grants of the warehouse are defined per schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{- (custom_schema_name or target.schema) | trim -}}
{%- endmacro %}
