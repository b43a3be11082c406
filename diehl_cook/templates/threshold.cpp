{# Brian's threshold test in two loops (diehl_cook): the conditions of all neurons
   first, in a loop without branches that the compiler vectorizes, then the
   spiking neurons collected in index order, eight conditions at a time. The same
   spikes, in the same order, as Brian's single loop (only comparisons: nothing is
   rounded differently). For groups whose threshold draws no random numbers (the
   calls would no longer be interleaved with the collection, though still in order). #}
{# USES_VARIABLES { N } #}
{% extends 'brian/threshold.cpp' %}
{% import 'marked.cpp' as marked %}

{% block extra_headers %}
#include <cstring>
#include <vector>
{% endblock %}

{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}
    static std::vector<char> _conditions;
    _conditions.resize(N + 8, 0);       // zero padding: whole words of eight to the end
    char * __restrict _all = &_conditions[0];
    #pragma GCC ivdep
    for(size_t _idx=0; _idx<N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        _all[_idx] = _cond;
    }
    long _count = 0;
    {% call marked.each_marked('_all') %}
                {{_eventspace}}[_count++] = _idx;
                {% if _uses_refractory %}
                {{not_refractory}}[_idx] = false;
                {{lastspike}}[_idx] = {{t}};
                {% endif %}
    {% endcall %}
    {{_eventspace}}[N] = _count;
{% endblock %}
