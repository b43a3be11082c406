{# An operation on every synapse of an all-to-all pathway (diehl_cook: the weight
   normalization's column sums and scaling, ``brian_internals.block_code_object_class``),
   run in blocks of N_post synapses, one block per source neuron, each loop marked
   free of dependencies so that the compiler vectorizes it. Valid when every block's
   synapses have N_post different targets, as the engine's input synapses do
   (``network.delay_order``: each pixel's synapses, one per neuron); the same
   additions in the same order as Brian's single loop, so the same results. #}
{# USES_VARIABLES { N, N_post } #}
{# ALLOWS_SCALAR_WRITE #}
{% extends 'brian/stateupdate.cpp' %}

{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    const int _N = {{constant_or_scalar('N', variables['N'])}};
    const int _block = {{constant_or_scalar('N_post', variables['N_post'])}};
    for(int _first=0; _first<_N; _first+=_block)
    {
        const int _end = _first + _block < _N ? _first + _block : _N;
        #pragma GCC ivdep
        for(int _idx=_first; _idx<_end; _idx++)
        {
            // vector code
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
        }
    }
{% endblock %}
