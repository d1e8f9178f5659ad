{#- For an incremental fact partitioned by (province_code, month): the partitions whose latest accepted
    return, or whose registry description of a unit (version, population), differs from what the fact
    holds. `current` is a relation at unit-month grain with the same signature columns. A revised month
    gets a new submission_id, so its partition is replaced whole (delete+insert); a registry correction
    replaces the months it touches. Partitions that did not change are left alone. -#}
{% macro cop_changed_partitions(current) -%}
    {%- set signature = 'province_code, month, unit_code, unit_version_key, population, submission_id' -%}
    select province_code, month
    from (
        (select {{ signature }} from {{ current }}
         except
         select {{ signature }} from {{ this }})
        union
        (select {{ signature }} from {{ this }}
         except
         select {{ signature }} from {{ current }})
    ) as changed
{%- endmacro %}

{#- In an incremental run, restricts `alias` (a relation with province_code and month) to the changed
    partitions; in a full build, to nothing. The model declares
    `-- depends_on: {{ ref('int_unit_month_returns') }}`. -#}
{% macro cop_only_changed_partitions(alias) -%}
    {%- if is_incremental() -%}
    and ({{ alias }}.province_code, {{ alias }}.month) in (
        {{ cop_changed_partitions(ref('int_unit_month_returns')) }}
    )
    {%- endif -%}
{%- endmacro %}
