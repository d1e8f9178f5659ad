{#- The marts' foreign keys are declared in their contracts (model-level constraints of type foreign_key,
    `to: ref(...)`, `to_columns`), so that BI tools find the joins in the database. dbt would put them in the
    CREATE TABLE of the empty contracted table, and PostgreSQL would then check every inserted row with a
    trigger: 5.6 times the insert's time on a 2-million-row fact (34.7 s against 6.2 s; adding the same keys
    afterwards took 0.4 s). So a mart is created without them, and cop_finish_marts (on-run-end) adds each
    missing key with one ALTER TABLE, which checks the whole table in one join. That also restores the keys a
    rebuilt dimension took with it: dbt drops a replaced table with CASCADE, and an incremental fact that is
    not rebuilt would otherwise lose its keys for good. -#}
{% macro postgres__get_table_columns_and_constraints() -%}
    {%- set columns = adapter.render_raw_columns_constraints(raw_columns=model['columns']) -%}
    {%- set table_constraints = adapter.render_raw_model_constraints(
            raw_constraints=model['constraints'] | rejectattr('type', 'equalto', 'foreign_key') | list) -%}
    (
    {{ (columns + table_constraints) | join(',\n    ') }}
    )
{%- endmacro %}


{#- The relation a foreign key's `to` names: ref('name') as written in the YAML, or already compiled. -#}
{% macro cop_foreign_key_target(to) -%}
    {%- if to.strip().startswith('ref(') -%}
        {%- set name = to.split(to.strip()[4])[1] -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
            {{ api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) }}
        {%- endfor -%}
    {%- else -%}
        {{ to }}
    {%- endif -%}
{%- endmacro %}


{#- After every run: each mart's declared foreign keys exist (added when missing, which checks every row), and
    each primary key index is called <table>_pkey (dbt builds a table as <table>__dbt_tmp and renames it, so
    its index would keep the temporary name). -#}
{% macro cop_finish_marts() -%}
    {%- if execute -%}
    do $cop_finish_marts$
    begin
    {% for node in graph.nodes.values()
            if node.resource_type == 'model' and node.schema == 'marts'
               and node.config.materialized in ('table', 'incremental') -%}
        {%- set table = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) -%}
        {%- for key in node.constraints if key.type == 'foreign_key' -%}
            {%- set name = (node.alias ~ '_' ~ key.columns | join('_') ~ '_fkey')[:63] -%}
            {%- set target = cop_foreign_key_target(key.to) %}
        if to_regclass({{ dbt.string_literal(table) }}) is not null
           and to_regclass({{ dbt.string_literal(target) }}) is not null
           and not exists (select from pg_constraint
                           where conrelid = to_regclass({{ dbt.string_literal(table) }})
                             and conname = {{ dbt.string_literal(name) }}) then
            alter table {{ table }} add constraint {{ adapter.quote(name) }}
                foreign key ({{ key.columns | join(', ') }}) references {{ target }} ({{ key.to_columns | join(', ') }});
        end if;
        {%- endfor %}
    {%- endfor %}
        perform 1;
    end
    $cop_finish_marts$;
    do $cop_clean_index_names$
    declare
        item record;
    begin
        for item in select index_class.relname as index_name, table_class.relname as table_name
                    from pg_index i
                    join pg_class index_class on index_class.oid = i.indexrelid
                    join pg_class table_class on table_class.oid = i.indrelid
                    where index_class.relnamespace = 'marts'::regnamespace
                      and index_class.relname like '%\_\_dbt\_tmp\_pkey' loop
            if to_regclass(format('marts.%I', item.table_name || '_pkey')) is null then
                execute format('alter index marts.%I rename to %I', item.index_name, item.table_name || '_pkey');
            end if;
        end loop;
    end
    $cop_clean_index_names$;
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
