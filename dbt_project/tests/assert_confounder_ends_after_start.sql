-- A confounder ends at or after its start.
select confounder_id, creator_id, confounder_type, starts_at, ends_at
from {{ ref('stg_agency__confounders') }}
where ends_at < starts_at
