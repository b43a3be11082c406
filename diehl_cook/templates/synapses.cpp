{# The delay ring (diehl_cook), part 2 of 2, for the pathway ``delay_ring_pathway``:
   delivers, at each step, the synapses whose delay has just elapsed, in the order
   Brian's spike queue delivers them: the spikes of the earliest step first, each
   spike's synapses in index order. The code run for each synapse is the one Brian
   generated for the pathway, with two stores left out:
   - a weight is written back only if the code changed it (most synapses arriving at
     a neuron that has not fired for a while keep their weight: the depression is
     eta_pre * x_post with x_post = 0), so an unchanged value is not written to memory,
     unless ``write_all_weights``: then every weight is written back, and a changed
     one marked, without a branch (whether a weight changes follows the targets'
     traces, which the processor cannot predict). Faster while the weights stay in
     the processor's cache, slower beyond (see brian_internals.use_delay_ring);
   - with ``lazy_arrival``, the arrival time (``t_arrival = t``) is not stored at all:
     the other pathway of these synapses (the postsynaptic spikes, the only code that
     reads it) derives it, when it needs it, from the source's recent spike steps and
     the synapse's delay: the time of the same step, computed as Brian's clock does.
   The groups of a step are listed first, and the first cache lines of the weights and
   targets of the group PREFETCH_AHEAD places further on are fetched while a group is
   delivered (the groups lie scattered over the weights; the processor's own prefetcher
   follows a long group once it has begun).
   With ``mark_columns`` (fast mode), both pathways mark the targets whose weights they
   change (``changed``), so that the weight normalization (``columns/stateupdate.cpp``)
   knows the columns it must scale. For the other pathway:
   Brian's loop over the spiking synapses, each given its arrival time (and its mark)
   first, its data fetched a few synapses ahead (its 784 synapses lie one per cache line).
   See brian_internals.use_delay_ring. #}
{# USES_VARIABLES { _synaptic_pre, _synaptic_post } #}
{% extends 'brian/synapses.cpp' %}
{% import 'delay_ring.cpp' as ring %}

{% block extra_headers %}
{{ super() }}
#include <vector>
{{ ring.declare(delay_ring_pathway) }}
{{ ring.prefetching() }}
{% endblock %}

{% block maincode %}
    {% set _store_w = (w ~ '[_idx] = w;') if w is defined else 'no store of w' %}
    {% set _targets = get_array_name(pathway.synapses.variables['_synaptic_post']) %}
    {# The store of w that replaces Brian's (the weight still holds its old value) #}
    {% if w is not defined %}
    {% set _store_changed_w = _store_w %}
    {% elif write_all_weights %}
    {% set _mark = ('changed[' ~ _targets ~ '[_idx]] |= (' ~ w ~ '[_idx] != w); ') if mark_columns else '' %}
    {% set _store_changed_w = _mark ~ _store_w %}
    {% else %}
    {% set _mark = (' changed[' ~ _targets ~ '[_idx]] = 1;') if mark_columns else '' %}
    {% set _store_changed_w = 'if (' ~ w ~ '[_idx] != w) { ' ~ _store_w ~ _mark ~ ' }' %}
    {% endif %}
    {% set _arrivals = get_array_name(pathway.synapses.variables['t_arrival']) if lazy_arrival else '' %}
    {% set _store_arrival = (_arrivals ~ '[_idx] = t_arrival;') if lazy_arrival else 'no store of t_arrival' %}
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {{ ring.bind(delay_ring_pathway) | autoindent }}
    {% if pathway.name == delay_ring_pathway %}
    // The groups that arrive now, as [first, end) synapse ranges: the spikes of the
    // earliest step first, each spike's group in index order.
    const int _stride = max_steps + 2;
    static std::vector<int32_t> _ranges;
    _ranges.clear();
    for (int _d = max_steps; _d >= 0; _d--)     // the spikes of _d steps ago arrive now
    {
        const int _slot = (now - _d + max_steps + 1) % (max_steps + 1);
        const int32_t *_sources = &spikes[(size_t)_slot * n_sources];
        for (int _s = 0; _s < n_spikes[_slot]; _s++)
        {
            const int32_t *_groups = &group_start[(size_t)_sources[_s] * _stride];
            _ranges.push_back(_groups[_d]);
            _ranges.push_back(_groups[_d + 1]);
        }
    }
    const size_t _n_groups = _ranges.size() / 2;
    for (size_t _g = 0; _g < _n_groups; _g++)
    {
        if (_g + PREFETCH_AHEAD < _n_groups)
        {
            const int32_t _first = _ranges[2 * (_g + PREFETCH_AHEAD)];
            const int32_t _end = _ranges[2 * (_g + PREFETCH_AHEAD) + 1];
            {% if w is defined %}
            prefetch_start(&{{w}}[_first], &{{w}}[_end]);
            {% endif %}
            prefetch_start(&{{_targets}}[_first], &{{_targets}}[_end]);
        }
        const size_t _end = _ranges[2 * _g + 1];
        // One synapse per (source, target): a group's targets are all different.
        #pragma GCC ivdep
        for (size_t _idx = _ranges[2 * _g]; _idx < _end; _idx++)
        {
            const size_t _vectorisation_idx = _idx;
            {{vector_code|map('replace', _store_w, _store_changed_w)|map('replace', _store_arrival, '')|list|autoindent}}
        }
    }
    {% else %}
    std::vector<int> *_spiking_synapses = {{pathway.name}}.peek();
    const int _num_spiking_synapses = _spiking_synapses->size();
    // First the marks of the changed columns and the arrival times of the spiking
    // synapses, then Brian's loop as it is (in a loop of its own, so that the code
    // Brian generated compiles as in Brian's).
    {% if lazy_arrival or mark_columns %}
    for(int _spiking_synapse_idx=0;
        _spiking_synapse_idx<_num_spiking_synapses;
        _spiking_synapse_idx++)
    {
        if (_spiking_synapse_idx + PREFETCH_AHEAD_SYNAPSES < _num_spiking_synapses)
        {
            const size_t _next = (*_spiking_synapses)[_spiking_synapse_idx + PREFETCH_AHEAD_SYNAPSES];
            prefetch_one(&{{_synaptic_pre}}[_next]);
            prefetch_one(&{{_targets}}[_next]);
            {% if w is defined %}
            prefetch_one(&{{w}}[_next]);
            {% endif %}
            {% if lazy_arrival %}
            prefetch_one(&synapse_steps[_next]);
            prefetch_one(&{{_arrivals}}[_next]);
            {% endif %}
        }
        const size_t _idx = (*_spiking_synapses)[_spiking_synapse_idx];
        {% if mark_columns %}
        changed[{{_targets}}[_idx]] = 1;
        {% endif %}
        {% if lazy_arrival %}
        // The synapse's last arrival: its source's latest spike s with s + delay <= now
        // (the ring's pathway runs first in each step). None yet: t_arrival keeps its
        // initial value.
        const int32_t _source = {{_synaptic_pre}}[_idx];
        const int _delay = synapse_steps[_idx];
        const int64_t _count = spike_count[_source];
        const int64_t _oldest = _count > history_size ? _count - history_size : 0;
        for (int64_t _k = _count - 1; _k >= _oldest; _k--)
        {
            const int64_t _arrival = history[(size_t)_source * history_size + _k % history_size] + _delay;
            if (_arrival <= step)
            {
                {{_arrivals}}[_idx] = _arrival * dt_value;     // Brian's clock: timestep * dt
                break;
            }
        }
        {% endif %}
    }
    {% endif %}
    for(int _spiking_synapse_idx=0;
        _spiking_synapse_idx<_num_spiking_synapses;
        _spiking_synapse_idx++)
    {
        const size_t _idx = (*_spiking_synapses)[_spiking_synapse_idx];
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
    }
    {% endif %}
{% endblock %}
