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
