-- Cumulative post counters are never negative (a negative total is a parse or export error;
-- counts that go down between snapshots are a different, legitimate case handled downstream).
select platform, post_id, snapshot_at, views, reach, likes, comments, shares, saves, follows, clicks
from {{ ref('stg_social__post_snapshots') }}
where views < 0 or reach < 0 or likes < 0 or comments < 0 or shares < 0
    or saves < 0 or follows < 0 or clicks < 0
