{#- The registry's rules, in one place (the same as cop.registry.UnitVersion):
    a unit version describes the unit in `month` when valid_from <= month <= valid_to (null = open-ended);
    a unit is open in `month` when it opened on or before the month's last day and closed_on (its last
    day of operation) is null or on/after the month's first day. -#}
{% macro cop_version_valid_in(units, month) -%}
    {{ units }}.valid_from <= {{ month }}
    and ({{ units }}.valid_to is null or {{ units }}.valid_to >= {{ month }})
{%- endmacro %}

{% macro cop_unit_open_in(units, month) -%}
    {{ units }}.opened_on <= ({{ month }} + interval '1 month' - interval '1 day')::date
    and ({{ units }}.closed_on is null or {{ units }}.closed_on >= {{ month }})
{%- endmacro %}
