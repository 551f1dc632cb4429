"""The job queue (huey): tasks, workers, and the dead jobs kept for replay."""
