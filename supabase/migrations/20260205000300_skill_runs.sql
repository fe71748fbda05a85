-- Campaign skills as a product (revos.skills): what each run cost and which voice wrote it, the review
-- of `human` runs, and the index of the execution log.

-- A skill's configuration names one of the spec's four skills (the API refuses others with a 422
-- naming them; the schema keeps the name well-formed).
alter table public.campaign_skills
  add constraint campaign_skills_skill_name_check check (skill_name ~ '^[a-z][a-z0-9_-]{0,49}$'),
  add constraint campaign_skills_schedule_check check (execution_mode = 'scheduled' or schedule is null);

comment on column public.campaign_skills.schedule is
  'next run of a scheduled skill; cleared after the run, or moved by config.repeat_every_hours';

alter table public.skill_executions
  add column execution_mode text check (execution_mode in ('human', 'ai', 'scheduled')),
  add column triggered_by text check (triggered_by in ('api', 'schedule')),
  add column cost_usd numeric(14, 6) not null default 0,
  add column provider text,
  add column model text,
  -- The cartridge (and its version) whose resolved voice wrote the output: provenance, not a reference
  -- (a system cartridge has no client, and a cartridge may be deleted while its runs stay logged).
  add column cartridge_id uuid,
  add column cartridge_version integer,
  -- `human` runs wait for a person: pending, then approved (the output used) or rejected.
  add column review_status text check (review_status in ('pending', 'approved', 'rejected')),
  add column reviewed_by uuid,
  add column reviewed_at timestamptz,
  add column review_note text,
  -- The post a copywriting draft became (through the posts domain), when it was applied.
  add column applied_post_id uuid,
  add constraint skill_executions_reviewed_by_client_fkey
    foreign key (reviewed_by, client_id) references public.users (id, client_id)
    on delete set null (reviewed_by),
  add constraint skill_executions_applied_post_client_fkey
    foreign key (applied_post_id, client_id) references public.posts (id, client_id)
    on delete set null (applied_post_id),
  add constraint skill_executions_review_check
    check ((review_status is null or review_status = 'pending') = (reviewed_at is null));

comment on column public.skill_executions.cost_usd is 'what the run''s AI calls cost, from the price table';
comment on column public.skill_executions.cartridge_version is 'version of cartridge_id that wrote the output';

create index idx_skill_executions_reviewed_by on public.skill_executions (reviewed_by);
create index idx_skill_executions_applied_post on public.skill_executions (applied_post_id);

-- The execution log of a campaign, newest first, optionally of one skill (revos.db.crud.page_query).
create index idx_skill_executions_client_campaign_created
  on public.skill_executions (client_id, campaign_id, created_at desc, id desc);
create index idx_skill_executions_client_campaign_skill_created
  on public.skill_executions (client_id, campaign_id, skill_name, created_at desc, id desc);

-- The scheduler claims due skills in time order.
create index idx_campaign_skills_due on public.campaign_skills (schedule)
  where execution_mode = 'scheduled' and enabled and schedule is not null;
