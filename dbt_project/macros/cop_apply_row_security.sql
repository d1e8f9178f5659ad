{#- Post-hook of every mart. A mart with a province_code column gets row-level security: members of
    cop_all_provinces (bi_reader) see every row, a province reader only its own province's rows
    (security.province_readers). dbt recreates tables on each build, so the policy is applied every
    time. The owner (cop_transform) is not subject to it. A mart made for every province to read (a
    benchmark: aggregates only, no unit's rows) says so with meta readable_by_every_province. -#}
{% macro cop_apply_row_security() -%}
    {%- if 'province_code' in model.columns and not model.config.get('meta', {}).get('readable_by_every_province') -%}
        alter table {{ this }} enable row level security;
        drop policy if exists province_rows on {{ this }};
        create policy province_rows on {{ this }} for select
            using ((select security.sees_all_provinces())
                   or province_code = any ((select security.visible_provinces())::text[]));
    {%- else -%}
        select 1 /* {{ this }}: readers see all of it */
    {%- endif -%}
{%- endmacro %}
