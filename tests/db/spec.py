"""What the spec (data-model.md) requires, written out: the schema tests compare the catalog with it.

The spec document is not part of this repository, so its tables, columns, keys and indexes are listed
here by hand. Names are kept in whitespace-separated strings so each table reads as one paragraph.
"""

# ruff: noqa: SIM905

from __future__ import annotations

# Columns per table. queue_jobs is not a table here: it becomes a view over the job queue.
# Additions beyond these columns are allowed, removals are not.
SPEC_COLUMNS: dict[str, list[str]] = {
    "agencies": ("id name slug settings subscription_tier subscription_status created_at updated_at").split(),
    "clients": (
        "id agency_id name company_name industry website settings subscription_tier subscription_status "
        "created_at updated_at"
    ).split(),
    "users": (
        "id client_id email first_name last_name role avatar_url settings last_login_at created_at updated_at"
    ).split(),
    "linkedin_accounts": (
        "id user_id account_name linkedin_email linkedin_password unipile_account_id unipile_session "
        "session_expires_at profile_data status last_sync_at rate_limit_reset_at daily_dm_count "
        "daily_post_count created_at updated_at"
    ).split(),
    "posts": (
        "id campaign_id linkedin_account_id unipile_post_id post_url content media_urls trigger_word "
        "status scheduled_for published_at metrics last_polled_at created_at updated_at"
    ).split(),
    "comments": (
        "id post_id unipile_comment_id author_name author_linkedin_id author_profile_url content "
        "has_trigger_word dm_sent dm_sent_at created_at"
    ).split(),
    "campaigns": (
        "id client_id name description lead_magnet_id trigger_word post_template dm_template_step1 "
        "dm_template_step2 dm_template_step3 webhook_config_id settings status metrics starts_at ends_at "
        "created_at updated_at"
    ).split(),
    "lead_magnets": (
        "id client_id name description file_path file_size file_type thumbnail_url download_count tags "
        "created_at updated_at"
    ).split(),
    "leads": (
        "id campaign_id email first_name last_name linkedin_id linkedin_url company title source status "
        "comment_id dm_sequence_id custom_fields created_at updated_at"
    ).split(),
    "dm_sequences": (
        "id lead_id campaign_id step1_scheduled_for step1_sent_at step1_message step1_unipile_message_id "
        "step1_status step2_sent_at step2_message step2_unipile_message_id email_extracted "
        "email_extracted_at step3_scheduled_for step3_sent_at step3_message step3_unipile_message_id "
        "download_url download_url_expires_at link_clicked link_clicked_at status completed_at "
        "failure_reason created_at updated_at"
    ).split(),
    "dm_messages": (
        "id dm_sequence_id direction message unipile_message_id unipile_conversation_id sent_at "
        "delivered_at read_at created_at"
    ).split(),
    "webhook_configs": (
        "id client_id name url secret headers esp_type retry_enabled max_retries retry_delay_ms "
        "timeout_ms active created_at updated_at"
    ).split(),
    "webhook_deliveries": (
        "id webhook_config_id lead_id payload status status_code response_body error_message "
        "attempt_count response_time_ms next_retry_at created_at delivered_at"
    ).split(),
    "pods": (
        "id client_id name description min_members auto_engage engagement_window_minutes "
        "comment_window_minutes settings status created_at updated_at"
    ).split(),
    "pod_members": (
        "id pod_id user_id linkedin_account_id role participation_score total_engagements "
        "missed_engagements status joined_at"
    ).split(),
    "pod_activities": (
        "id pod_id post_id post_url post_author_id engagement_type member_id scheduled_for executed_at "
        "status error_message created_at"
    ).split(),
    "cartridges": (
        "id client_id user_id tier name description voice knowledge auto_generate source_posts_count "
        "parent_cartridge_id active created_at updated_at"
    ).split(),
    "campaign_skills": (
        "id campaign_id skill_name execution_mode schedule config enabled created_at updated_at"
    ).split(),
    "skill_executions": (
        "id campaign_id skill_name input_data output_data execution_time_ms tokens_used success "
        "error_message created_at"
    ).split(),
    "memories": (
        "id user_id mem0_memory_id memory_type content metadata embedding relevance_score created_at"
    ).split(),
}

# Types where the spec's SQL had to change (design §5) or where a mistake would be costly.
SPEC_TYPES = {
    ("linkedin_accounts", "linkedin_email"): "bytea",
    ("linkedin_accounts", "linkedin_password"): "bytea",
    ("linkedin_accounts", "unipile_session"): "bytea",
    ("webhook_configs", "secret"): "bytea",
    ("memories", "embedding"): "vector(1536)",
    ("pod_members", "participation_score"): "numeric(3,2)",
    ("memories", "relevance_score"): "numeric(3,2)",
    ("posts", "media_urls"): "text[]",
    ("agencies", "id"): "uuid",
}

# The spec's indexes, the critical-query ones included.
SPEC_INDEXES = (
    "idx_agencies_slug idx_clients_agency idx_users_client idx_users_email idx_linkedin_accounts_user "
    "idx_linkedin_accounts_status idx_posts_campaign idx_posts_status idx_posts_scheduled "
    "idx_comments_post idx_comments_trigger idx_comments_author idx_campaigns_client idx_campaigns_status "
    "idx_lead_magnets_client idx_lead_magnets_tags idx_leads_campaign idx_leads_status idx_leads_email "
    "idx_dm_sequences_lead idx_dm_sequences_campaign idx_dm_sequences_status "
    "idx_dm_sequences_step3_scheduled idx_dm_messages_sequence idx_dm_messages_conversation "
    "idx_webhook_configs_client idx_webhook_configs_active idx_webhook_deliveries_config "
    "idx_webhook_deliveries_lead idx_webhook_deliveries_status idx_webhook_deliveries_retry "
    "idx_pods_client idx_pods_status idx_pod_members_pod idx_pod_members_user idx_pod_members_status "
    "idx_pod_activities_pod idx_pod_activities_member idx_pod_activities_scheduled idx_cartridges_client "
    "idx_cartridges_user idx_cartridges_tier idx_cartridges_parent idx_campaign_skills_campaign "
    "idx_campaign_skills_enabled idx_skill_executions_campaign idx_skill_executions_skill "
    "idx_skill_executions_created idx_memories_user idx_memories_type idx_memories_embedding "
    "idx_leads_campaign_status idx_dm_sequences_pending idx_pod_activities_execution "
    "idx_webhook_deliveries_retry_queue"
).split()

# The spec's unique keys, under the names PostgreSQL gives the spec's own DDL.
SPEC_UNIQUE = (
    "agencies_slug_key clients_agency_id_name_key users_email_key "
    "linkedin_accounts_unipile_account_id_key linkedin_accounts_user_id_account_name_key "
    "posts_unipile_post_id_key comments_unipile_comment_id_key campaigns_client_id_name_key "
    "leads_campaign_id_linkedin_id_key dm_messages_unipile_message_id_key "
    "webhook_configs_client_id_name_key pods_client_id_name_key pod_members_pod_id_user_id_key "
    "campaign_skills_campaign_id_skill_name_key memories_mem0_memory_id_key"
).split()

# The spec's foreign keys: (table, column) -> (referenced table, on delete: c = cascade, a = no action).
SPEC_FKS = {
    ("clients", "agency_id"): ("agencies", "c"),
    ("users", "client_id"): ("clients", "c"),
    ("linkedin_accounts", "user_id"): ("users", "c"),
    ("posts", "campaign_id"): ("campaigns", "c"),
    ("posts", "linkedin_account_id"): ("linkedin_accounts", "a"),
    ("comments", "post_id"): ("posts", "c"),
    ("campaigns", "client_id"): ("clients", "c"),
    ("campaigns", "lead_magnet_id"): ("lead_magnets", "a"),
    ("campaigns", "webhook_config_id"): ("webhook_configs", "a"),
    ("lead_magnets", "client_id"): ("clients", "c"),
    ("leads", "campaign_id"): ("campaigns", "c"),
    ("leads", "comment_id"): ("comments", "a"),
    ("leads", "dm_sequence_id"): ("dm_sequences", "a"),
    ("dm_sequences", "lead_id"): ("leads", "c"),
    ("dm_sequences", "campaign_id"): ("campaigns", "a"),
    ("dm_messages", "dm_sequence_id"): ("dm_sequences", "c"),
    ("webhook_configs", "client_id"): ("clients", "c"),
    ("webhook_deliveries", "webhook_config_id"): ("webhook_configs", "a"),
    ("webhook_deliveries", "lead_id"): ("leads", "a"),
    ("pods", "client_id"): ("clients", "c"),
    ("pod_members", "pod_id"): ("pods", "c"),
    ("pod_members", "user_id"): ("users", "c"),
    ("pod_members", "linkedin_account_id"): ("linkedin_accounts", "a"),
    ("pod_activities", "pod_id"): ("pods", "c"),
    ("pod_activities", "post_id"): ("posts", "a"),
    ("pod_activities", "post_author_id"): ("pod_members", "a"),
    ("pod_activities", "member_id"): ("pod_members", "a"),
    ("cartridges", "client_id"): ("clients", "c"),
    ("cartridges", "user_id"): ("users", "a"),
    ("cartridges", "parent_cartridge_id"): ("cartridges", "a"),
    ("campaign_skills", "campaign_id"): ("campaigns", "c"),
    ("skill_executions", "campaign_id"): ("campaigns", "a"),
    ("memories", "user_id"): ("users", "c"),
}
