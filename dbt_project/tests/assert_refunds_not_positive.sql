-- Contract: refunds and chargebacks are negative amounts (revenue sums rely on it).
select revenue_event_id, creator_id, occurred_at, revenue_type, amount
from {{ ref('stg_fan_platform__revenue_events') }}
where revenue_type in ('refund', 'chargeback') and amount > 0
