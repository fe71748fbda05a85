"""A client's own data, whole: `GET /v1/export` (admins), every row it can see, secrets left out."""
