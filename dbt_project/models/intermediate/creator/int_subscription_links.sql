-- Subscriptions that came through a tracking link of their own creator, with the content
-- type the link stands for: the link's content_type when the links file gives one, else the
-- content type of the post it was placed on. A link code of another creator, or a link whose
-- type cannot be resolved, is kept with link_status saying why, and is not ground truth.
{{ config(materialized='view') }}

select
    subs.subscription_id,
    subs.creator_id,
    subs.link_code,
    links.post_id as link_post_id,
    coalesce(links.content_type, posts.content_type) as link_content_type,
    case
        when links.link_code is null then 'unknown_code'
        when links.creator_id <> subs.creator_id then 'other_creator'
        when coalesce(links.content_type, posts.content_type) is null then 'unresolved_type'
        else 'ok'
    end as link_status
from {{ ref('stg_fan_platform__subscribers') }} as subs
left join {{ ref('stg_social__tracking_links') }} as links
    on links.link_code = subs.link_code
left join {{ ref('int_post_content_types') }} as posts
    on posts.post_id = links.post_id
    and (links.platform is null or posts.platform = links.platform)
    and posts.creator_id = links.creator_id
where subs.link_code is not null
qualify row_number() over (partition by subs.subscription_id order by posts.platform nulls last) = 1
