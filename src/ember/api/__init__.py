"""The HTTP front door: Lambda's REST API, CloudWatch Logs' log reading calls,
health. AWS error shapes live here and nowhere else."""
