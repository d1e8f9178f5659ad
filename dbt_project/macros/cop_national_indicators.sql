{#- The national indicator codes in form order, read from raw.ref_indicators (synced from
    spec/form.yaml) when the model runs. Callers declare `-- depends_on: source('raw', 'ref_indicators')`. -#}
{% macro cop_national_indicators() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select indicator_code from {{ source('raw', 'ref_indicators') }}
        where province_code is null order by position
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}
