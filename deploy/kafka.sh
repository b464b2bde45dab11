#!/usr/bin/env bash
# Apache Kafka 4.x, single KRaft node (broker + controller), from Maven Central jars.
# Usage: deploy/kafka.sh install|start|stop|restart|status
COMPONENT=kafka
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/deploy/kafka/pom.xml")
KAFKA_LIBS="$ARTICULA_HOME/kafka-$KAFKA_VERSION/libs"
KAFKA_CONF="$ARTICULA_HOME/config/$ARTICULA_INSTANCE/kafka"
KAFKA_DATA="$DATA_DIR/kafka"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"

do_install() {
  command -v java >/dev/null || die "java not found: install a JDK 17+ (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found: apt-get install maven"
  if [[ -f "$KAFKA_LIBS/.complete" ]]; then return 0; fi
  say "fetching Kafka $KAFKA_VERSION jars from Maven Central (once)"
  rm -rf "$KAFKA_LIBS"; mkdir -p "$KAFKA_LIBS"
  mvn -q -B -f "$ROOT/deploy/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime
  touch "$KAFKA_LIBS/.complete"
}

write_config() {
  mkdir -p "$KAFKA_CONF" "$KAFKA_DATA"
  cat > "$KAFKA_CONF/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$ARTICULA_BIND:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$ARTICULA_BIND:$KAFKA_PORT,CONTROLLER://$ARTICULA_BIND:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$ARTICULA_BIND:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
  cat > "$KAFKA_CONF/log4j2.properties" <<PROPS
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
PROPS
}

kafka_java() { java -Dlog4j2.configurationFile="$KAFKA_CONF/log4j2.properties" -cp "$KAFKA_LIBS/*" "$@"; }

do_start() {
  write_config
  if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
    local cluster_id
    cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid | tail -n 1)
    say "formatting KRaft storage in $KAFKA_DATA (cluster $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_CONF/server.properties" >>"$LOG_DIR/kafka.log" 2>&1
  fi
  # shellcheck disable=SC2086
  start_daemon kafka java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_CONF/log4j2.properties" -cp "$KAFKA_LIBS/*" \
    kafka.Kafka "$KAFKA_CONF/server.properties"
  wait_port "$ARTICULA_BIND" "$KAFKA_PORT" 90 kafka
  say "up on $ARTICULA_BIND:$KAFKA_PORT (data $KAFKA_DATA, log $LOG_DIR/kafka.log)"
}

do_stop() { stop_daemon kafka 40; }
do_status() { status_daemon kafka "$ARTICULA_BIND" "$KAFKA_PORT"; }

dispatch "$@"
