{# The delay ring (diehl_cook), part 1 of 2 (through synapses_push_spikes.cpp): keeps the source's spikes of the last
   max_steps + 1 time steps, in place of Brian's spike queue, for a pathway whose
   synapses come in blocks, one per source neuron, each sorted by delay (in time
   steps); ``synapses.cpp`` delivers them. Used by the pathways given
   ``brian_internals.engine_code_object_class()`` (see ``use_delay_ring``). #}
{# USES_VARIABLES { _n_sources, _n_targets, delay, _source_dt } #}
{% extends 'brian/synapses_push_spikes.cpp' %}
{% import 'delay_ring.cpp' as ring %}

{% block extra_headers %}
#include <cstdlib>
#include <vector>
{{ ring.declare(owner.name, define=True) }}
{% endblock %}

{% block before_code %}
    {# Brian's queue is not prepared: nothing is pushed into it. #}
    {{ ring.declare(owner.name) | autoindent }}
    {{ ring.bind(owner.name) | autoindent }}
    n_sources = {{constant_or_scalar('_n_sources', variables['_n_sources'])}};
    std::vector<{{c_data_type(variables['delay'].dtype)}}> &_delays = {{get_array_name(variables['delay'], access_data=False)}};
    const size_t _n_synapses = _delays.size();
    const int32_t *_pre = {{owner.name}}.sources.empty() ? 0 : &({{owner.name}}.sources[0]);
    const double _dt = {{_source_dt}};
    std::vector<int> _steps(_n_synapses);
    max_steps = 0;
    for (size_t _k = 0; _k < _n_synapses; _k++)
    {
        _steps[_k] = (int)(_delays[_k] / _dt + 0.5);   // as Brian's queue rounds a delay
        if (_steps[_k] > max_steps)
            max_steps = _steps[_k];
    }
    const int _stride = max_steps + 2;
    group_start.assign((size_t)n_sources * _stride, -1);
    for (size_t _k = 0; _k < _n_synapses; _k++)
    {
        const int _source = _pre[_k];
        const bool _new_block = _k == 0 || _pre[_k - 1] != _source;
        if ((_new_block && group_start[(size_t)_source * _stride] != -1) ||
            (!_new_block && _steps[_k] < _steps[_k - 1]))
        {
            std::cerr << "diehl_cook: the synapses of {{owner.name}} are not in blocks per "
                         "source sorted by delay; the delay ring cannot deliver them" << std::endl;
            std::exit(3);
        }
        int32_t *_groups = &group_start[(size_t)_source * _stride];
        for (int _d = _new_block ? 0 : _steps[_k - 1] + 1; _d <= _steps[_k]; _d++)
            _groups[_d] = _k;
        if (_k + 1 == _n_synapses || _pre[_k + 1] != _source)
            for (int _d = _steps[_k] + 1; _d < _stride; _d++)
                _groups[_d] = _k + 1;
    }
    for (size_t _k = 0; _k < group_start.size(); _k += _stride)
        if (group_start[_k] == -1)      // a source without synapses: empty groups
            for (int _d = 0; _d < _stride; _d++)
                group_start[_k + _d] = 0;
    spikes.assign((size_t)(max_steps + 1) * n_sources, 0);
    n_spikes.assign(max_steps + 1, 0);
    now = 0;
    if (max_steps > 127)
    {
        std::cerr << "diehl_cook: the delays of {{owner.name}} exceed 127 time steps, more "
                     "than the delay ring keeps" << std::endl;
        std::exit(3);
    }
    synapse_steps.assign(_steps.begin(), _steps.end());
    step = -1;
    dt_value = _dt;
    // A source fires at most once per step: of its last max_steps + 2 spikes, at least
    // one has arrived at every synapse, whatever its delay.
    history_size = max_steps + 2;
    history.assign((size_t)n_sources * history_size, 0);
    spike_count.assign(n_sources, 0);
    // Every column is normalized in the first cycle of a run.
    changed.assign({{constant_or_scalar('_n_targets', variables['_n_targets'])}}, 1);
{% endblock %}

{% block maincode %}
    {% set _eventspace = get_array_name(eventspace_variable) %}
    {{ ring.bind(owner.name) | autoindent }}
    now = (now + 1) % (max_steps + 1);
    step++;
    const int _count = {{_eventspace}}[_num{{eventspace_variable.name}}-1];
    n_spikes[now] = _count;
    for (int _k = 0; _k < _count; _k++)
    {
        const int32_t _source = {{_eventspace}}[_k];
        spikes[(size_t)now * n_sources + _k] = _source;
        history[(size_t)_source * history_size + spike_count[_source] % history_size] = step;
        spike_count[_source]++;
    }
{% endblock %}
