"""Database access: the embedded server, migrations, pools and tenant/service transactions."""
