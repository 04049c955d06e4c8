#!/bin/sh
# Kafka's kafka-broker-api-versions.sh, as apache/kafka's image has it:
# compose's health check runs it with --bootstrap-server HOST:PORT.
exec java -Xmx128m -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties \
    -cp '/opt/kafka/libs/*' kafka.admin.BrokerApiVersionsCommand "$@"
