//! Network-layer packet views: Ethernet, ARP, IPv4, ICMP, UDP.
