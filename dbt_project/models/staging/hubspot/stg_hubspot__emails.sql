{{ stg_hubspot_engagement('hubspot_emails', 'email', 'hs_email_direction') }}
