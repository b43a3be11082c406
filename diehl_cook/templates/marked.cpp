{# The loop over the marked indices of ``marks`` (a char array of N marks, zero-padded
   to whole words of eight), in index order, skipping eight unmarked ones at a time:
   the second loop of the project's two-loop threshold tests. #}
{% macro each_marked(marks) %}
    for(size_t _word=0; _word<N; _word+=8)
    {
        uint64_t _eight;
        memcpy(&_eight, {{marks}} + _word, 8);
        if (_eight == 0)
            continue;
        for(size_t _idx=_word; _idx<_word+8 && _idx<N; _idx++)
            if({{marks}}[_idx])
            {
                {{ caller() }}
            }
    }
{% endmacro %}
