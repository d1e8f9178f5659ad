{#- Generic test: every row satisfies `expression`. -#}
{% test cop_expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
