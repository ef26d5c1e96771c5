{#- Landed records arrive in several copies (overlapping exports, re-pulls): the rank of a
    copy among the copies of its record, 1 = the version to keep. HubSpot objects carry
    their own updated_at: the latest version wins, then the latest load, then the file
    name (a deterministic tie-break). Used by every model that reads HubSpot objects, so the
    rule is one place. -#}
{% macro latest_version_rank(partition_by) -%}
    row_number() over (
        partition by {{ partition_by }}
        order by updated_at desc nulls last, loaded_at desc nulls last, source_file desc
    )
{%- endmacro %}

{#- Run-log records: the order of a run's landed copies, first = the copy counted (docs/method.md,
    "Two copies of one run"). The copy from the later extraction (raw._landed_files.extracted_at)
    counts, a vendor's later state of the run; where the extraction does not tell (the same
    time, or none recorded), a finished state is later than one still in progress. Copies that
    differ and are still not ordered hold the month in the raw gate (check copies_undecided,
    roi_pipeline.quality.frames._runs_frame, which applies this order too), so the tie-break
    the caller adds after it never decides a published figure. -#}
{% macro run_copy_order(extracted_at, run_status) -%}
    {{ extracted_at }} desc nulls last,
    case when {{ run_status }} in ('running', 'waiting', 'new') then 1 else 0 end
{%- endmacro %}
