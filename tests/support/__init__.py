"""What tests share: connections (db), waiting (waiting), one factory per table (rows), the tenant (tenant).
The shared fixtures are in tests.support.fixtures, registered by tests/conftest.py."""

from tests.support.api import create_campaign
from tests.support.db import (
    anon_conn,
    connect,
    read_row,
    read_rows,
    seal_audit,
    service_conn,
    superuser_conn,
    tenant_conn,
    with_database,
)
from tests.support.files import PDF, PNG
from tests.support.linkedin import Connected, connect_account, process_inbox
from tests.support.rows import (
    Conn,
    Row,
    insert,
    make_agency,
    make_api_key,
    make_campaign,
    make_client,
    make_comment,
    make_dm_sequence,
    make_lead,
    make_lead_magnet,
    make_linkedin_account,
    make_post,
    make_user,
    make_webhook_config,
    make_webhook_delivery,
    tag,
)
from tests.support.tenant import Tenant, headers, make_tenant, token_headers
from tests.support.waiting import EVENTUALLY_SECONDS, eventually

__all__ = [
    "EVENTUALLY_SECONDS",
    "PDF",
    "PNG",
    "Conn",
    "Connected",
    "Row",
    "Tenant",
    "anon_conn",
    "connect",
    "connect_account",
    "create_campaign",
    "eventually",
    "headers",
    "insert",
    "make_agency",
    "make_api_key",
    "make_campaign",
    "make_client",
    "make_comment",
    "make_dm_sequence",
    "make_lead",
    "make_lead_magnet",
    "make_linkedin_account",
    "make_post",
    "make_tenant",
    "make_user",
    "make_webhook_config",
    "make_webhook_delivery",
    "process_inbox",
    "read_row",
    "read_rows",
    "seal_audit",
    "service_conn",
    "superuser_conn",
    "tag",
    "tenant_conn",
    "token_headers",
    "with_database",
]
