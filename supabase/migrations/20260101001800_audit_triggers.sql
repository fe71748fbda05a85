-- Every mutation of tenant data is audited (see 20260101001600_audit_log.sql). agencies are above the
-- tenants and audit_log is the trail itself; every other table is covered, clients included.

select public.revos_enable_audit(t)
from unnest(array[
  'public.clients',
  'public.users',
  'public.linkedin_accounts',
  'public.webhook_configs',
  'public.lead_magnets',
  'public.campaigns',
  'public.posts',
  'public.comments',
  'public.leads',
  'public.dm_sequences',
  'public.dm_messages',
  'public.webhook_deliveries',
  'public.pods',
  'public.pod_members',
  'public.pod_activities',
  'public.cartridges',
  'public.campaign_skills',
  'public.skill_executions',
  'public.memories',
  'public.api_keys',
  'public.encryption_keys'
]::regclass[]) as t;
