{# Brian's state update with the loop over neurons marked "omp simd" (diehl_cook's
   fast mode, ``brian_internals.use_simd_state_update``): with -ffinite-math-only
   the compiler vectorizes it, exp() included (glibc's vector math library, whose
   exp() may differ from the scalar one in the last bits). Otherwise the same code. #}
{# USES_VARIABLES { N } #}
{# ALLOWS_SCALAR_WRITE #}
{% extends 'brian/stateupdate.cpp' %}

{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    const int _N = {{constant_or_scalar('N', variables['N'])}};
    #pragma omp simd
    for(int _idx=0; _idx<_N; _idx++)
    {
        // vector code
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
    }
{% endblock %}
