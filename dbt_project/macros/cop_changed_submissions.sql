{#- Incremental facts are partitioned by (province_code, month) and rebuilt a partition at a time
    (delete+insert). A partition's rows all come from its latest accepted submission, so a changed
    partition is named by that submission's id.

    cop_changed_submission_ids(): in an incremental run, the ids of the submissions whose rows differ
    from what the fact holds - a revision (a new latest submission) or a registry correction (a unit's
    version or population) - compared on each unit-month's signature; none in a full build.
    `this_filter` keeps one row per unit-month of {{ this }} when the fact is finer (the long fact: one
    indicator that every accepted return has), so the comparison reads 1/35 of its rows. A partition
    never becomes empty (every accepted return has rows), so delete+insert never leaves a stale one.
    The model declares `-- depends_on: {{ ref('int_unit_month_returns') }}`. -#}
{% macro cop_changed_submission_ids(this_filter='true') -%}
    {%- if not (is_incremental() and execute) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set current = ref('int_unit_month_returns') -%}
    {%- set signature = 'province_code, month, unit_code, unit_version_key, population, submission_id' -%}
    {%- set query -%}
        select distinct submission_id
        from (
            (select {{ signature }} from {{ current }}
             except
             select {{ signature }} from {{ this }} where {{ this_filter }})
            union
            (select {{ signature }} from {{ this }} where {{ this_filter }}
             except
             select {{ signature }} from {{ current }})
        ) as changed
        order by submission_id
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- `and <alias>.submission_id in (...)` for the ids of cop_changed_submission_ids (nothing in a full
    build). Written into the query as values, they let PostgreSQL read just those rows by index; given
    a subquery instead, it misjudges how few rows they are and scans every raw value (seconds to tens
    of seconds once the warehouse holds years). -#}
{% macro cop_only_submissions(alias, submission_ids) -%}
    {%- if submission_ids is none -%}
    {%- elif submission_ids | length == 0 %}
    and false
    {%- else %}
    and {{ alias }}.submission_id in ({{ submission_ids | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{#- The first required national indicator: a row of it exists for every unit-month of an accepted return. -#}
{% macro cop_first_required_indicator() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set query -%}
        select indicator_code from {{ source('raw', 'ref_indicators') }}
        where province_code is null and is_required order by position limit 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{%- endmacro %}
