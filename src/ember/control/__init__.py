"""What exists: functions, their configuration and their code."""
