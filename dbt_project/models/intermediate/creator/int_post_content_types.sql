-- Content type of every post: a manual tag (stg_social__content_tags) always wins; otherwise the
-- first matching caption rule (funnellens/content_types.py is the source of the rules; a test
-- keeps the VALUES below identical to it); otherwise 'other'. One row per (platform, post_id).
{{ config(materialized='table') }}

with rules (priority, content_type, pattern) as (
    values
        (1, 'grwm', '\bgrwm\b|get ?ready ?with ?me|#getreadywithme|#makeuproutine'),
        (2, 'behind_scenes', 'behind ?the ?scenes|#behindthescenes|\bbts\b|\bbloopers?\b|\bshoot day\b|#creatorlife'),
        (3, 'money_talk', 'money ?talk|#moneytalk|#creatoreconomy|#personalfinance|how much i (?:made|make|earn)|\bbudget(?:ing)?\b|\bincome\b|\btaxes\b'),
        (4, 'storytime', 'story ?times?\b|#storytimes?\b|#story\b|you won.?t believe|\btrue story\b'),
        (5, 'thirst_trap', 'thirst ?trap|#thirsttrap|fit ?check|#fitcheck|#ootd|\bootd\b|mirror check|rate this look')
),

posts as (
    select
        platform,
        post_id,
        arg_max(creator_id, snapshot_at) as creator_id,
        min(published_at) as published_at,
        min(snapshot_at) as first_snapshot_at,
        max(snapshot_at) as last_snapshot_at,
        arg_max(caption, snapshot_at) filter (where caption is not null) as caption,
        arg_max(post_type, snapshot_at) filter (where post_type is not null) as post_type
    from {{ ref('stg_social__post_snapshots') }}
    group by platform, post_id
),

suggestions as (
    select
        posts.platform,
        posts.post_id,
        arg_min(rules.content_type, rules.priority) as suggested_content_type
    from posts
    inner join rules on regexp_matches(lower(posts.caption), rules.pattern)
    group by posts.platform, posts.post_id
),

-- A tag file may leave the platform out: such a tag applies to the post id on any platform,
-- and a tag that names the platform outranks it.
manual as (
    select
        posts.platform,
        posts.post_id,
        arg_min(tags.content_type, case when tags.platform is null then 1 else 0 end) as manual_content_type
    from posts
    inner join {{ ref('stg_social__content_tags') }} as tags
        on tags.post_id = posts.post_id
        and (tags.platform = posts.platform or tags.platform is null)
    group by posts.platform, posts.post_id
)

select
    posts.platform,
    posts.post_id,
    posts.creator_id,
    posts.published_at,
    posts.first_snapshot_at,
    posts.last_snapshot_at,
    posts.caption,
    posts.post_type,
    manual.manual_content_type,
    coalesce(suggestions.suggested_content_type, 'other') as suggested_content_type,
    coalesce(manual.manual_content_type, suggestions.suggested_content_type, 'other') as content_type,
    case
        when manual.manual_content_type is not null then 'manual'
        when suggestions.suggested_content_type is not null then 'rule'
        else 'default'
    end as content_type_source
from posts
left join suggestions using (platform, post_id)
left join manual using (platform, post_id)
