"""Output of lifted poses: files and messages for viewers and robots (e.g. ROS 2 messages in MCAP files)."""
