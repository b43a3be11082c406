{# Brian's threshold test for a group whose condition draws random numbers with
   rand() (diehl_cook: the Poisson input, "rate > 0*Hz and rand() < rate * dt"),
   in two loops. The first, without branches and without drawing, marks the neurons
   whose test draws a number or is true without one: Brian's code, with each draw
   replaced by noting that it happens (and the value 0). The second runs Brian's code
   as it is for the marked neurons only, in index order: the same numbers drawn in the
   same order, the same spikes. Why: a presentation's image lights about 150 of the
   784 inputs, and nothing during the rest; Brian's loop tests every input at every
   step with a branch the processor mispredicts at each edge of the digit's strokes.
   A condition that draws in another way than rand() (no "_rand(_vectorisation_idx)"
   in the code Brian generated, but a call of a random function) takes Brian's loop. #}
{# USES_VARIABLES { N } #}
{% extends 'brian/threshold.cpp' %}
{% import 'marked.cpp' as marked %}

{% block extra_headers %}
{{ super() }}
#include <cstring>
#include <vector>
{% endblock %}

{% block maincode %}
    {% set _draw = '_rand(_vectorisation_idx)' %}
    {% set _code = vector_code|join('\n') %}
    {% if _uses_refractory or _draw not in _code or 'rand' in _code|replace(_draw, '') %}
    {{ super() }}
    {% else %}
    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}
    static std::vector<char> _marked;
    _marked.resize(N + 8, 0);       // zero padding: whole words of eight to the end
    char * __restrict _mark = &_marked[0];
    #pragma GCC ivdep
    for(size_t _idx=0; _idx<N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        char _draws = 0;
        {{vector_code|map('replace', _draw, '(_draws = 1, 0.0)')|list|autoindent}}
        _mark[_idx] = _draws | _cond;
    }
    long _count = 0;
    {% call marked.each_marked('_mark') %}
                const size_t _vectorisation_idx = _idx;
                {{vector_code|autoindent}}
                if(_cond)
                    {{_eventspace}}[_count++] = _idx;
    {% endcall %}
    {{_eventspace}}[N] = _count;
    {% endif %}
{% endblock %}
