"""ROS 2 integration: :mod:`htp_edge.ros.node` lifts ROS4HRI (REP 155) 2D body skeletons to 3D.

Importing this package (or the node module) needs no ROS: ``rclpy`` and the message packages
are imported only when a node is made or ``main`` runs (``python -m htp_edge.ros.node``).
"""
