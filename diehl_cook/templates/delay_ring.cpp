{# The state of a pathway's delay ring (diehl_cook), shared by the code objects of
   synapses_push_spikes.cpp (which defines it and fills it) and synapses.cpp (which
   reads it): global variables named after the pathway, declared where they are used
   (the file of Brian's before-run code has no place for declarations of its own). #}
{% macro declare(name, define=False) %}
{% set storage = '' if define else 'extern ' %}
{{storage}}int _delay_ring_{{name}}_n_sources;           // neurons of the source
{{storage}}int _delay_ring_{{name}}_max_steps;           // the longest delay, in time steps
{{storage}}int _delay_ring_{{name}}_now;                 // the ring slot of the current step
// [source * (max_steps + 2) + d]: the source's first synapse with a delay of d steps or more
{{storage}}std::vector<int32_t> _delay_ring_{{name}}_group_start;
// [slot * n_sources + k]: the k-th spike of the slot's step; [slot]: how many
{{storage}}std::vector<int32_t> _delay_ring_{{name}}_spikes;
{{storage}}std::vector<int32_t> _delay_ring_{{name}}_n_spikes;
// For the arrival times derived at a postsynaptic spike (``lazy_arrival``): the time
// step and dt; each synapse's delay in steps; each source's last history_size spike
// steps ([source * history_size + k % history_size], k counting its spikes).
{{storage}}int64_t _delay_ring_{{name}}_step;
{{storage}}double _delay_ring_{{name}}_dt;
{{storage}}std::vector<int8_t> _delay_ring_{{name}}_synapse_steps;
{{storage}}int _delay_ring_{{name}}_history_size;
{{storage}}std::vector<int64_t> _delay_ring_{{name}}_history;
{{storage}}std::vector<int64_t> _delay_ring_{{name}}_spike_count;
// For the weight normalization of fast mode (templates/columns, ``mark_columns``):
// [target] 1 when the target's weights changed since its last normalization; each
// target's synapses in index order (column_synapses[column_start[j]] to
// [column_start[j + 1] - 1]); the columns normalized in the current cycle.
{{storage}}std::vector<char> _delay_ring_{{name}}_changed;
{{storage}}std::vector<int32_t> _delay_ring_{{name}}_column_start;
{{storage}}std::vector<int32_t> _delay_ring_{{name}}_column_synapses;
{{storage}}std::vector<int32_t> _delay_ring_{{name}}_columns_now;
{% endmacro %}

{% macro bind(name) %}
int &n_sources = _delay_ring_{{name}}_n_sources;
int &max_steps = _delay_ring_{{name}}_max_steps;
int &now = _delay_ring_{{name}}_now;
std::vector<int32_t> &group_start = _delay_ring_{{name}}_group_start;
std::vector<int32_t> &spikes = _delay_ring_{{name}}_spikes;
std::vector<int32_t> &n_spikes = _delay_ring_{{name}}_n_spikes;
int64_t &step = _delay_ring_{{name}}_step;
double &dt_value = _delay_ring_{{name}}_dt;
std::vector<int8_t> &synapse_steps = _delay_ring_{{name}}_synapse_steps;
int &history_size = _delay_ring_{{name}}_history_size;
std::vector<int64_t> &history = _delay_ring_{{name}}_history;
std::vector<int64_t> &spike_count = _delay_ring_{{name}}_spike_count;
std::vector<char> &changed = _delay_ring_{{name}}_changed;
std::vector<int32_t> &column_start = _delay_ring_{{name}}_column_start;
std::vector<int32_t> &column_synapses = _delay_ring_{{name}}_column_synapses;
std::vector<int32_t> &columns_now = _delay_ring_{{name}}_columns_now;
{% endmacro %}

{# Fetching memory ahead of its use (GCC and Clang; elsewhere the calls do nothing). #}
{% macro prefetching() %}
// Groups ahead of the one delivered whose first cache lines are fetched, and how many
// lines; synapses ahead for the postsynaptic spikes.
static const size_t PREFETCH_AHEAD = 4;
static const int PREFETCH_LINES = 3;
static const int PREFETCH_AHEAD_SYNAPSES = 16;
static inline void prefetch_one(const void *address)
{
#if defined(__GNUC__)
    __builtin_prefetch(address);
#endif
}
// The first PREFETCH_LINES cache lines (of 64 bytes) of [first, end).
template <typename T>
static inline void prefetch_start(const T *first, const T *end)
{
    const char *line = (const char *)((uintptr_t)first & ~(uintptr_t)63);
    for (int k = 0; k < PREFETCH_LINES && line < (const char *)end; k++, line += 64)
        prefetch_one(line);
}
{% endmacro %}
