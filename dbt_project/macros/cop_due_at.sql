{#- The instant a return for `month` is late from: the end of day `due_day` of the following month
    (midnight after it) in the warehouse's time zone (var due_time_zone, Pakistan time). -#}
{% macro cop_due_at(month, due_day) -%}
    (({{ month }} + interval '1 month' + {{ due_day }} * interval '1 day')::timestamp
        at time zone '{{ var("due_time_zone") }}')
{%- endmacro %}
