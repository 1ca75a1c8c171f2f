-- An agency time zone is a name DuckDB (ICU) knows, so weekly windows can be computed in it.
select c.creator_id, c.agency_id, c.agency_timezone
from {{ ref('stg_roster__creators') }} as c
where c.agency_timezone not in (select name from pg_timezone_names())
