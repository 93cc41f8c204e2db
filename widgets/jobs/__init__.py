"""Launch analysis jobs and follow them: JobLauncher, JobMonitor, JobHandle."""
