{# The weight normalization of diehl_cook's fast mode for the columns whose weights
   changed: ``column_role`` "sum" (the column sums, ``incoming_post += w``) or "scale"
   (``w = w * weight_sum / incoming_post``), for the synapses of the pathway
   ``delay_ring_pathway`` (``brian_internals.column_code_object_classes``).

   The delay ring's code for both pathways marks, in ``changed``, the targets whose
   weights it changes; a cycle normalizes those columns, each with Brian's code for
   each of its synapses, in index order as Brian's loop adds them, and clears their
   marks. The other columns were normalized when they last changed: Brian's loop would
   scale them again by a factor within a few units in the last place of 1 (their sums
   are 78 to rounding), which is what fast mode leaves out. At 6,400 neurons a few
   dozen of the 6,400 columns change in a cycle. ``incoming`` holds the sums of the
   columns normalized in the cycle only (the others keep the 0 of ``incoming_reset``). #}
{# USES_VARIABLES { N, _synaptic_post } #}
{# ALLOWS_SCALAR_WRITE #}
{% extends 'brian/stateupdate.cpp' %}
{% import 'delay_ring.cpp' as ring %}

{% block extra_headers %}
{{ super() }}
#include <vector>
{{ ring.declare(delay_ring_pathway) }}
{% endblock %}

{% block maincode %}
    {% set _targets = get_array_name(variables['_synaptic_post']) %}
    {# Every synapse of a column has the column as its target: Brian's code need not read it. #}
    {% set _read_target = 'const int32_t _postsynaptic_idx = ' ~ _targets ~ '[_idx];' %}
    //// MAIN CODE ////////////
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {{ ring.bind(delay_ring_pathway) | autoindent }}
    {% if column_role == 'sum' %}
    if (column_start.empty())       // once per program: the synapses of each column
    {
        const int _N = {{constant_or_scalar('N', variables['N'])}};
        const int _n_columns = changed.size();
        column_start.assign(_n_columns + 1, 0);
        for (int _k = 0; _k < _N; _k++)
            column_start[{{_targets}}[_k] + 1]++;
        for (int _j = 0; _j < _n_columns; _j++)
            column_start[_j + 1] += column_start[_j];
        column_synapses.resize(_N);
        std::vector<int32_t> _next(column_start.begin(), column_start.end() - 1);
        for (int _k = 0; _k < _N; _k++)
            column_synapses[_next[{{_targets}}[_k]]++] = _k;
    }
    columns_now.clear();
    for (int _j = 0; _j < (int)changed.size(); _j++)
        if (changed[_j])
            columns_now.push_back(_j);
    {% endif %}
    for (size_t _c = 0; _c < columns_now.size(); _c++)
    {
        const int _column = columns_now[_c];
        for (int _k = column_start[_column]; _k < column_start[_column + 1]; _k++)
        {
            const int _idx = column_synapses[_k];
            // vector code
            const size_t _vectorisation_idx = _idx;
            {{vector_code|map('replace', _read_target, 'const int32_t _postsynaptic_idx = _column;')|list|autoindent}}
        }
        {% if column_role == 'scale' %}
        changed[_column] = 0;
        {% endif %}
    }
{% endblock %}
