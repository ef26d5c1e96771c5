{{ stg_hubspot_engagement('hubspot_calls', 'call', 'hs_call_direction') }}
