"""Where file contents live: a local directory or S3, behind one `Storage` interface."""
