"""Lead magnets: the files campaigns offer, their storage (local disk or S3-compatible) and downloads."""
