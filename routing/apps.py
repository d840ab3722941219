from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    label = "routing"

    def ready(self) -> None:
        from costlens.usage.rollup import register_day_hook, register_hour_hook
        from routing.rollup import recompute_routing_day, recompute_routing_hour

        register_hour_hook(recompute_routing_hour)
        register_day_hook(recompute_routing_day)
