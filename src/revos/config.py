"""Settings: every delay, cap, window and secret is a setting with a sane default (prefix REVOS_)."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from revos.errors import ConfigError

# Values that mean "somebody copied the example file and never changed it".
PLACEHOLDERS = {"", "changeme", "change-me", "changethis", "secret", "placeholder", "xxx", "todo", "example"}


def default_data_dir() -> Path:
    """Where embedded PostgreSQL and local files live when REVOS_DATA_DIR is unset.

    The embedded server, when run as root, loosens the permissions of every parent of its data
    directory so its own unprivileged user can reach it. As root we therefore never choose a path
    under a home directory: /var/lib/revos (or a /tmp directory when /var/lib is not writable).
    """
    if os.name != "nt" and os.geteuid() == 0:
        var_lib = Path("/var/lib")
        if os.access(var_lib, os.W_OK):
            return var_lib / "revos"
        return Path(tempfile.gettempdir()) / "revos-root"
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "revos"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REVOS_", env_file=".env", extra="ignore")

    # --- Memory and embeddings; see docs/memory.md.
    embedding_provider: Literal["wordllama", "openai"] = Field(
        default="wordllama", description="wordllama: bundled, no network; openai: any /v1/embeddings endpoint"
    )
    embedding_model: str | None = Field(
        default=None, description="openai only; unset = text-embedding-3-small"
    )
    embedding_base_url: str | None = Field(default=None, description="openai only; unset = OpenAI's own")
    embedding_api_key: SecretStr | None = None
    embedding_dimensions: int | None = Field(
        default=None, ge=1, le=1536, description="openai only: ask for this many dimensions; unset = 1536"
    )
    embedding_batch_size: int = Field(default=256, ge=1, description="texts per model call / request")
    embedding_timeout_seconds: float = Field(default=30.0, gt=0)
    embedding_retries: int = Field(
        default=3, ge=0, description="openai: retries after a 429, a 5xx or a timeout"
    )
    memory_content_max_chars: int = Field(default=8000, ge=1, description="longest memory (and search query)")
    memory_search_max_k: int = Field(default=100, ge=1, description="most results one search returns")
    memory_iterative_scan: Literal["relaxed_order", "strict_order", "off"] = Field(
        default="relaxed_order",
        description="pgvector >= 0.8: HNSW scans on past ef_search until enough rows pass the filters",
    )
    memory_prefer_index: bool = Field(
        default=True,
        description="walk the HNSW index even where the planner would sort the client's rows (docs/memory.md)",
    )
    memory_hnsw_ef_search: int = Field(default=100, ge=1, le=1000, description="HNSW candidate list size")
    memory_hnsw_max_scan_tuples: int = Field(
        default=20000, ge=1, description="iterative scan: most index tuples one search visits"
    )
    memory_reembed_batch: int = Field(default=200, ge=1, description="memories re-embedded per transaction")
    cron_memory_reembed: str = Field(default="*/10 * * * *", description="re-embed memories of another model")
    cron_memory_auto: str = Field(default="41 * * * *", description="write the automatic memories")
    memory_auto_settle_hours: float = Field(
        default=48.0, ge=0, description="a post (a first DM) counts once it is this old"
    )
    memory_auto_min_comments: int = Field(default=5, ge=1, description="a post with fewer is not judged")
    memory_auto_min_posts: int = Field(
        default=3, ge=1, description="judged posts a client needs for a median"
    )
    memory_auto_min_sends: int = Field(
        default=20, ge=1, description="first DMs a template needs to be judged"
    )
    memory_auto_min_templates: int = Field(
        default=2, ge=1, description="judged templates needed for a median"
    )
    memory_auto_reply_margin: float = Field(
        default=0.1, ge=0, le=1, description="a template's reply rate must beat the median by this much"
    )
    memory_auto_batch: int = Field(default=100, ge=1, description="automatic memories written per run")
    mem0_enabled: bool = Field(
        default=False, description="also keep memories in Mem0 (pip install revos[mem0])"
    )
    mem0_base_url: str | None = Field(default=None, description="self-hosted Mem0; unset = the hosted API")
    mem0_api_key: SecretStr | None = None
    mem0_event_wait_seconds: float = Field(
        default=10.0, ge=0, description="how long one sync job waits for Mem0 to process an add"
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, description="Any PostgreSQL >= 15 with pgvector; unset = embedded PostgreSQL"
    )
    database_direct_url: str | None = Field(
        default=None,
        description="a session connection (no transaction pooler) for the worker's queue (LISTEN/NOTIFY),"
        " migrations and backups; unset = database_url",
    )
    database_pooler: Literal["auto", "transaction", "session"] = Field(
        default="auto",
        description="transaction: database_url goes through PgBouncer/Supavisor in transaction mode (no"
        " server-side prepared statements); auto: transaction when its port is 6543",
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    master_key: SecretStr | None = Field(default=None, description="base64 32-byte key wrapping data keys")
    master_key_previous: SecretStr | None = Field(
        default=None, description="comma-separated master keys still accepted while a rotation runs"
    )
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "revos"
    jwt_ttl_seconds: int = 3600
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    db_pool_min: int = Field(default=1, ge=0, description="connections each process keeps open")
    db_pool_max: int = Field(default=10, ge=1, description="most connections one process opens for its work")
    log_level: str = "INFO"
    page_size_default: int = 50
    page_size_max: int = 200
    max_json_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="largest JSON request body; refused with 413 before more is read (uploads have their own)",
    )
    # Unipile (LinkedIn). Unset DSN = the built-in simulator in `revos demo`.
    unipile_dsn: str | None = None
    unipile_api_key: SecretStr | None = None
    # Outbound webhooks (lead delivery to the client's ESP); see docs/webhooks.md.
    webhook_allow_http_loopback: bool = Field(
        default=False,
        description="dev/test only: allow http(s) to loopback receivers; ignored in production",
    )
    webhook_disable_after_failures: int = Field(
        default=5, ge=1, description="consecutive deliveries that gave up before a config is disabled"
    )
    webhook_secret_overlap_seconds: int = Field(
        default=86400, ge=0, description="after a rotation, the previous secret also signs for this long"
    )
    webhook_retry_max_delay_ms: int = Field(default=6 * 3600 * 1000, ge=1)
    webhook_retry_jitter: float = Field(default=0.2, ge=0, le=1, description="backoff * (1 + U(0, jitter))")
    webhook_retry_after_max_seconds: int = Field(default=86400, ge=0, description="cap on a Retry-After")
    webhook_response_max_bytes: int = Field(default=64 * 1024, ge=1024, description="read at most this much")
    webhook_response_store_chars: int = Field(default=2000, ge=0, description="kept in the delivery log")
    webhook_dispatch_concurrency: int = Field(default=16, ge=1)
    webhook_dispatch_batch: int = Field(default=200, ge=1, description="deliveries claimed per dispatch")
    webhook_delivery_retention_days: int = Field(default=60, ge=1, description="finished deliveries kept")
    cron_webhook_dispatch: str = Field(default="*/5 * * * * *", description="when due deliveries are sent")
    cron_webhook_retention: str = Field(default="17 3 * * *", description="when old deliveries are purged")
    webhook_claim_lease_seconds: int = Field(
        default=330, ge=1, description="a claimed delivery is re-claimable after this (crashed worker)"
    )
    kit_base_url: str = "https://api.kit.com"
    # Leads and the 3-step DM sequence (campaign settings override the delays; see docs/leads.md).
    dm_step1_delay_min_seconds: int = Field(default=120, ge=0, description="gap after a comment, low end")
    dm_step1_delay_max_seconds: int = Field(default=900, ge=0, description="gap after a comment, high end")
    dm_step2_delay_seconds: int = Field(default=60, ge=0, description="from the email reply to step 2")
    dm_step3_delay_seconds: int = Field(default=86400, ge=0, description="from step 2 to the backup DM")
    dm_abandon_after_days: float = Field(default=7, gt=0, description="no reply after step 1 -> abandoned")
    dm_email_review_threshold: float = Field(default=0.8, ge=0, le=1, description="below: human review")
    dm_invitation_check_seconds: int = Field(
        default=4 * 3600, ge=1, description="polling fallback for accepted invitations (randomised +-50%)"
    )
    dm_invitation_expire_days: float = Field(default=21, gt=0, description="unaccepted invitation -> give up")
    dm_wait_recheck_seconds: int = Field(
        default=900, ge=1, description="re-check of a sequence waiting on a paused campaign or account"
    )
    dm_retry_base_seconds: int = Field(default=60, ge=1, description="first retry after a transient error")
    dm_retry_max_attempts: int = Field(default=6, ge=1, description="transient failures before giving up")
    cron_dms_dispatch: str = Field(default="* * * * * */5", description="due DM steps -> jobs (6th field: s)")
    cron_dms_abandon: str = Field(default="*/10 * * * *", description="sequences without reply -> abandoned")
    cron_dms_poll_replies: str = Field(default="*/15 * * * *", description="polling fallback for replies")
    dm_reply_poll_lookback_hours: float = Field(default=48, gt=0)
    dm_dispatch_batch: int = Field(default=200, ge=1, description="due sequences claimed per dispatch")
    dm_wake_horizon_seconds: float = Field(
        default=60, ge=0, description="an account's run is queued at most this many wall seconds ahead"
    )
    dm_account_run_seconds: float = Field(
        default=20, gt=0, description="wall seconds one account run may act before handing over"
    )
    dm_lane_size: int = Field(
        default=8, ge=1, le=50, description="due steps of one account sent as one lane; 1: one at a time"
    )
    download_link_ttl_days: float = Field(default=30, gt=0, description="expiry of signed /d/{token} links")

    # The processes' event loop: uvloop spends less CPU per database round trip than asyncio's own.
    event_loop: Literal["uvloop", "asyncio"] = Field(default="uvloop", description="uvloop or asyncio")

    # Job queue (Procrastinate, schema `procrastinate`) and `revos worker`.
    worker_concurrency: int = Field(default=8, ge=1, description="jobs one worker runs at once (async tasks)")
    worker_poll_interval_seconds: float = Field(
        default=5.0, gt=0, description="fallback poll for due jobs; LISTEN/NOTIFY wakes workers at once"
    )
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0)
    stalled_after_seconds: float = Field(
        default=60.0, gt=0, description="a worker silent this long is dead: its running jobs are retried"
    )
    worker_shutdown_timeout_seconds: float = Field(
        default=30.0,
        ge=0,
        description="on SIGTERM, running jobs get this long to finish before being aborted",
    )
    worker_reconnect_initial_seconds: float = Field(
        default=0.5, gt=0, description="first wait after losing the DB"
    )
    worker_reconnect_max_seconds: float = Field(
        default=30.0, gt=0, description="cap of the reconnect backoff"
    )
    worker_db_timeout_seconds: float = Field(default=10.0, gt=0, description="wait for a queue DB connection")
    worker_db_pool_max: int = Field(default=10, ge=2, description="queue connections, on top of db_pool_max")
    queue_retention_days: int = Field(default=30, ge=1, description="finished jobs are purged after this")
    queue_purge_batch_size: int = Field(default=5000, ge=1)
    queue_default_max_attempts: int = Field(default=3, ge=1, description="runs of a job, retries included")
    queue_retry_base_seconds: float = Field(
        default=5.0, ge=0, description="first retry delay, doubled each time"
    )
    queue_retry_max_seconds: float = Field(default=3600.0, ge=0)
    queue_retry_jitter: float = Field(default=0.2, ge=0, le=1, description="delay * (1 + U(0, jitter))")
    cron_reset_daily_limits: str = Field(
        default="*/5 * * * *", description="each account resets 24 h after its last reset; this is the check"
    )
    cron_recover_stalled_jobs: str = "* * * * *"
    cron_purge_finished_jobs: str = "17 3 * * *"

    # --- Partitions, retention, archiving and backups; see docs/operations.md.
    partition_months_ahead: int = Field(
        default=2, ge=1, le=24, description="monthly partitions created ahead of the current month"
    )
    cron_partitions: str = Field(default="7 0 * * *", description="when next months' partitions are made")
    cron_audit_seal: str = Field(default="* * * * * */5", description="when new audit entries are chained")
    retention_audit_log_days: int = Field(
        default=90, ge=1, description="audit entries kept; the chain is anchored at the last purged one"
    )
    retention_webhook_attempts_days: int = Field(
        default=60, ge=1, description="webhook delivery attempts kept"
    )
    retention_inbound_events_days: int = Field(default=90, ge=1, description="processed inbound events kept")
    retention_pod_activities_days: int = Field(
        default=90, ge=1, description="finished pod activities kept (pending ones always stay)"
    )
    retention_skill_executions_days: int = Field(
        default=90, ge=1, description="skill runs kept (runs awaiting review always stay)"
    )
    retention_batch_size: int = Field(default=5000, ge=1, description="rows deleted per transaction")
    cron_retention: str = Field(default="37 3 * * *", description="when retention runs")
    campaign_archive_after_days: float = Field(
        default=30, gt=0, description="a completed campaign leaves every dispatcher's scan after this"
    )
    cron_campaigns_archive: str = Field(
        default="23 * * * *", description="when completed campaigns are archived"
    )
    backup_target: str | None = Field(
        default=None,
        description="directory or s3://bucket/prefix: the weekly export goes there; unset = none",
    )
    backup_s3_endpoint_url: str | None = Field(default=None, description="MinIO, R2, ...; unset = AWS")
    backup_s3_region: str | None = None
    cron_backup: str = Field(default="41 2 * * 0", description="when the weekly export runs (Sunday)")

    # LinkedIn accounts, account safety (design §7), the action ledger and the inbound inbox; see docs/accounts.md.
    unipile_webhook_secret: SecretStr | None = Field(
        default=None,
        description="shared secret Unipile sends with each webhook; unset = derived from the master key",
    )
    unipile_timeout_seconds: float = Field(default=30.0, gt=0)
    unipile_read_retries: int = Field(default=3, ge=0)
    clock_speed: float = Field(
        default=1.0, gt=0, description="> 1 runs revos.clock as a ScaledClock (demo, tests): days in minutes"
    )
    safety_cap_dm: int = Field(default=100, ge=0, description="DMs per account per local day")
    safety_cap_invitation: int = Field(default=40, ge=0, description="invitations per account per local day")
    safety_cap_invitation_weekly: int = Field(
        default=150, ge=0, description="invitations per account over 7 local days (0: none)"
    )
    safety_cap_post: int = Field(default=3, ge=0)
    safety_cap_comment: int = Field(default=30, ge=0)
    safety_cap_reaction: int = Field(default=100, ge=0)
    safety_cap_profile_view: int = Field(default=80, ge=0)
    safety_cap_repost: int = Field(default=5, ge=0, description="reposts (pods) per account per local day")
    safety_working_hours_enabled: bool = True
    safety_working_hours_start: float = Field(default=8.0, ge=0, le=24, description="local hour, e.g. 8.5")
    safety_working_hours_end: float = Field(default=20.0, ge=0, le=24)
    safety_working_days: str = Field(default="mon,tue,wed,thu,fri,sat,sun", description="local weekdays")
    safety_gap_min_seconds: float = Field(default=30.0, ge=0, description="random gap between actions")
    safety_gap_max_seconds: float = Field(default=120.0, ge=0)
    safety_warmup_days: int = Field(default=14, ge=0, description="new accounts ramp up over this many days")
    safety_warmup_start_fraction: float = Field(default=0.2, gt=0, le=1)
    safety_rate_limit_pause_seconds: float = Field(default=3600.0, ge=0, description="first 429; doubles")
    safety_rate_limit_pause_max_seconds: float = Field(default=86400.0, ge=0)
    action_inflight_timeout_seconds: float = Field(
        default=120.0, gt=0, description="an in-flight action older than this is presumed crashed: reconcile"
    )
    action_retry_seconds: float = Field(default=60.0, ge=0, description="wait after a transient failure")
    action_reconcile_delay_seconds: float = Field(default=5.0, ge=0, description="before reconciling")
    inbound_sweep_after_seconds: float = Field(
        default=60.0, ge=0, description="unprocessed inbox events older than this are processed again"
    )
    cron_inbound_sweep: str = Field(default="* * * * *", description="schedule of inbound.sweep")

    # Campaigns, lead magnets, posts and comment polling; see docs/campaigns.md.
    magnet_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1, description="largest lead-magnet upload")
    magnet_local_dir: Path | None = Field(
        default=None, description="local file store; unset = DATA_DIR/files"
    )
    magnet_s3_bucket: str | None = Field(
        default=None, description="set = lead magnets go to S3-compatible storage"
    )
    magnet_s3_endpoint_url: str | None = Field(default=None, description="MinIO, R2, ...; unset = AWS")
    magnet_s3_region: str | None = None
    magnet_s3_access_key_id: str | None = Field(default=None, description="unset = boto3's credential chain")
    magnet_s3_secret_access_key: SecretStr | None = None
    magnet_s3_prefix: str = "lead-magnets/"
    magnet_s3_url_ttl_seconds: int = Field(default=300, ge=1, description="presigned download URL lifetime")
    post_dispatch_batch: int = Field(default=20, ge=1, description="due posts claimed per publish tick")
    post_publish_lease_seconds: float = Field(
        default=300.0, gt=0, description="a claimed post is re-claimable after this (crashed worker)"
    )
    post_publish_max_attempts: int = Field(default=5, ge=1, description="transient failures before failed")
    post_publish_retry_seconds: float = Field(default=120.0, ge=0, description="after a transient failure")
    poll_fresh_hours: float = Field(default=6.0, ge=0, description="a post this young is polled often")
    poll_fresh_seconds: float = Field(default=120.0, gt=0)
    poll_day_hours: float = Field(
        default=48.0, ge=0, description="then, until this age, every poll_day_seconds"
    )
    poll_day_seconds: float = Field(default=900.0, gt=0)
    poll_week_days: float = Field(default=7.0, ge=0, description="then, until this age, hourly")
    poll_week_seconds: float = Field(default=3600.0, gt=0)
    poll_old_seconds: float = Field(default=6 * 3600.0, gt=0, description="older posts")
    poll_stop_after_days: float = Field(
        default=90.0, gt=0, description="posts older than this are not polled"
    )
    poll_jitter: float = Field(default=0.1, ge=0, le=1, description="interval * (1 + U(-j, j))")
    poll_full_rescan_seconds: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="a full read of every comment and reply, past the high-water mark",
    )
    poll_mismatch_rescan_seconds: float = Field(
        default=600.0,
        ge=0,
        description="LinkedIn counts more comments than we hold: rescan, at most this often",
    )
    poll_page_size: int = Field(default=100, ge=1, le=100)
    poll_dispatch_batch: int = Field(default=50, ge=1, description="due posts claimed per poll tick")
    poll_lease_seconds: float = Field(
        default=300.0, gt=0, description="a claimed poll is re-claimable after this"
    )
    poll_error_retry_seconds: float = Field(default=300.0, gt=0)
    poll_concurrency: int = Field(default=4, ge=1, description="posts one poll tick reads at once")
    cron_posts_publish_due: str = "* * * * * */20"
    cron_posts_poll_due: str = "* * * * * */20"
    cron_campaigns_complete_ended: str = "*/5 * * * *"

    # --- Campaign skills (revos.skills); see docs/skills.md.
    cron_skills_scheduled: str = Field(default="* * * * *", description="when due scheduled skills run")
    skills_scheduled_batch: int = Field(default=20, ge=1, description="scheduled skills run per tick")

    # --- Engagement pods (revos.pods); see docs/pods.md.
    cron_pods_execute: str = Field(default="* * * * * */15", description="when due pod activities run")
    pods_execute_batch: int = Field(default=500, ge=1, description="pod activities claimed per round")
    pods_execute_run_seconds: float = Field(default=12.0, gt=0, description="a pods tick's rounds, at most")
    pods_execute_lanes: int = Field(default=32, ge=1, le=64, description="accounts acting at once in a tick")
    pods_lease_seconds: float = Field(
        default=600.0, gt=0, description="a claimed activity is re-claimable after"
    )
    cron_pods_verify: str = Field(default="* * * * *", description="manual pods: look at due posts")
    pods_verify_batch: int = Field(default=20, ge=1, description="manual pods: posts read per tick")

    # --- Operations: logs, /metrics, analytics; see docs/operations.md.
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per line, with request_id / job_id"
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="bearer token /metrics requires; unset = /metrics answers loopback only"
    )
    metrics_window_seconds: int = Field(
        default=3600, ge=60, description="/metrics: recent activity (actions, attempts, jobs) over this"
    )
    cron_analytics_refresh: str = Field(default="*/5 * * * *", description="when analytics views refresh")
    analytics_max_days: int = Field(default=366, ge=1, description="longest from..to of /v1/analytics")

    # --- AI providers (completion and embeddings, budget, prices); see docs/ai.md.
    ai_provider: Literal["offline", "openai", "anthropic"] = Field(
        default="offline", description="deployment default; a client's own AI settings override it"
    )
    ai_model: str | None = Field(default=None, description="unset = the provider's default model")
    ai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible or Anthropic endpoint; unset = the vendor's own"
    )
    ai_api_key: SecretStr | None = None
    ai_timeout_seconds: float = Field(
        default=60.0, gt=0, description="one provider call, connect to last byte"
    )
    ai_retries: int = Field(default=3, ge=0, description="retries after a 429, a 5xx or a timeout")
    ai_retry_base_seconds: float = Field(default=1.0, ge=0, description="first backoff, doubled each retry")
    ai_retry_max_seconds: float = Field(
        default=30.0, ge=0, description="cap of one backoff (and Retry-After)"
    )
    ai_monthly_token_budget: int = Field(
        default=0, ge=0, description="tokens per client per calendar month (UTC); 0 = unlimited"
    )
    ai_allow_http_loopback: bool = Field(
        default=False,
        description="dev/test only: a client's base_url may be plain http to loopback; ignored in production",
    )
    ai_prices: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='JSON {model: {"input": usd_per_1M, "output": usd_per_1M}}, merged over the built-in table',
    )

    # --- The dashboard (/app); see docs/dashboard.md.
    web_session_hours: float = Field(default=12.0, gt=0, description="a dashboard session's lifetime")
    web_invite_hours: float = Field(default=72.0, gt=0, description="an invitation link's lifetime")
    web_reset_minutes: float = Field(default=60.0, gt=0, description="a password-reset link's lifetime")
    web_password_min_length: int = Field(default=10, ge=8, le=128, description="shortest password accepted")
    web_signin_window_minutes: float = Field(
        default=15.0, gt=0, description="failed sign-ins are counted over this window"
    )
    web_signin_max_per_account: int = Field(
        default=5, ge=1, description="failed sign-ins to one account within the window before refusal"
    )
    web_signin_max_per_address: int = Field(
        default=20, ge=1, description="failed sign-ins from one client address within the window"
    )
    smtp_host: str | None = Field(default=None, description="unset: links are shown to the admin, not mailed")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="revos@localhost", description="From: of invitation and reset mails")
    smtp_starttls: bool = Field(default=True, description="STARTTLS before authenticating")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def master_key_file(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def jwt_secret_file(self) -> Path:
        return self.data_dir / "jwt.secret"

    def require_secrets(self) -> None:
        """Production refuses to start with a missing or placeholder secret; development makes its own."""
        for name in ("master_key", "jwt_secret"):
            value: SecretStr | None = getattr(self, name)
            raw = value.get_secret_value() if value else ""
            if raw.strip().lower() in PLACEHOLDERS:
                if self.is_production:
                    raise ConfigError(f"REVOS_{name.upper()} is missing or a placeholder; refusing to start")
                setattr(self, name, SecretStr(self._dev_secret(name)))

    def _dev_secret(self, name: str) -> str:
        path = self.master_key_file if name == "master_key" else self.jwt_secret_file
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        if name == "master_key":
            from revos.security.crypto import generate_master_key

            value = generate_master_key()
        else:
            value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        logging.getLogger("revos.config").warning(
            "development mode: generated REVOS_%s in %s (mode 0600); set it explicitly in production",
            name.upper(),
            path,
        )
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    get_settings.cache_clear()
