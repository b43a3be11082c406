{# The spike push of the pathways given the delay ring's code object class
   (``brian_internals.use_delay_ring``): the ring's (``delay_ring_push.cpp``) for the
   pathway ``delay_ring_pathway``, Brian's own for the other pathway of the synapses. #}
{# USES_VARIABLES { _n_sources, _n_targets, delay, _source_dt } #}
{% extends ('delay_ring_push.cpp' if owner.name == delay_ring_pathway else 'brian/synapses_push_spikes.cpp') %}
