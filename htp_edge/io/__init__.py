"""Output formats for lifted poses (ROS 2 messages in MCAP files, written without ROS installed)."""
