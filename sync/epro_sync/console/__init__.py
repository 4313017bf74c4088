"""The study's web console: server-rendered pages for coordinators, data managers and admins."""
