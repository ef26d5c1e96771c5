{{ stg_hubspot_engagement('hubspot_meetings', 'meeting', 'hs_meeting_outcome', 'meeting_outcome') }}
