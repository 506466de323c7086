"""The `weather` tool: current conditions from an Open-Meteo-compatible forecast API (+ geocoding)."""
from __future__ import annotations

from typing import Any

import httpx

from tokenyard.chats.tools.base import ToolCallInfo, ToolError
from tokenyard.chats.tools.http import fetch_json

CURRENT = "temperature_2m,relative_humidity_2m,apparent_temperature,wind_speed_10m,weather_code"
# WMO weather interpretation codes, as documented by Open-Meteo.
WMO = {0: "clear sky", 1: "mainly clear", 2: "partly cloudy", 3: "overcast", 45: "fog",
       48: "depositing rime fog", 51: "light drizzle", 53: "moderate drizzle", 55: "dense drizzle",
       56: "light freezing drizzle", 57: "dense freezing drizzle", 61: "slight rain", 63: "moderate rain",
       65: "heavy rain", 66: "light freezing rain", 67: "heavy freezing rain", 71: "slight snow fall",
       73: "moderate snow fall", 75: "heavy snow fall", 77: "snow grains", 80: "slight rain showers",
       81: "moderate rain showers", 82: "violent rain showers", 85: "slight snow showers",
       86: "heavy snow showers", 95: "thunderstorm", 96: "thunderstorm with slight hail",
       99: "thunderstorm with heavy hail"}


class WeatherTool:
    """Current weather for a place name or coordinates. `url` is the forecast endpoint; `geocoding_url`
    (Open-Meteo geocoding API) turns names into coordinates."""

    name = "weather"
    description = "Get the current weather for a location (a place name, or latitude and longitude)."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "Place name, e.g. 'Berlin'", "maxLength": 200},
            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "additionalProperties": False,
    }

    def __init__(self, http: httpx.AsyncClient, url: str, geocoding_url: str = "", api_key: str = "") -> None:
        self._http = http
        self._url = url
        self._geocoding_url = geocoding_url
        self._api_key = api_key

    async def _place(self, args: dict[str, Any]) -> tuple[float, float, str]:
        if args.get("latitude") is not None and args.get("longitude") is not None:
            return float(args["latitude"]), float(args["longitude"]), args.get("location") or ""
        name = (args.get("location") or "").strip()
        if not name:
            raise ToolError("give a location or latitude and longitude")
        if not self._geocoding_url:
            raise ToolError("place names are not supported here; give latitude and longitude")
        found = await fetch_json(self._http, "the geocoding service", "GET", self._geocoding_url,
                                 params={"name": name, "count": 1, "language": "en", "format": "json"})
        results = (found or {}).get("results") if isinstance(found, dict) else None
        if not results:
            raise ToolError(f"no place named {name!r} was found")
        top = results[0]
        label = ", ".join(str(p) for p in (top.get("name"), top.get("admin1"), top.get("country")) if p)
        return float(top["latitude"]), float(top["longitude"]), label or name

    async def run(self, args: dict[str, Any], call: ToolCallInfo) -> dict[str, Any]:
        """Look the place up, then read its current conditions."""
        lat, lon, label = await self._place(args)
        params: dict[str, Any] = {"latitude": lat, "longitude": lon, "current": CURRENT, "timezone": "auto"}
        if args.get("unit") == "fahrenheit":
            params.update(temperature_unit="fahrenheit", wind_speed_unit="mph")
        if self._api_key:
            params["apikey"] = self._api_key
        data = await fetch_json(self._http, "the weather service", "GET", self._url, params=params)
        current = data.get("current") if isinstance(data, dict) else None
        if not isinstance(current, dict):
            raise ToolError("the weather service answered without current conditions")
        units = data.get("current_units") or {}
        code = current.get("weather_code")
        return {"location": label, "latitude": data.get("latitude", lat),
                "longitude": data.get("longitude", lon), "time": current.get("time"),
                "temperature": current.get("temperature_2m"),
                "apparentTemperature": current.get("apparent_temperature"),
                "humidity": current.get("relative_humidity_2m"), "windSpeed": current.get("wind_speed_10m"),
                "weatherCode": code, "conditions": WMO.get(code, "unknown"),
                "units": {"temperature": units.get("temperature_2m", "°C"),
                          "windSpeed": units.get("wind_speed_10m", "km/h"),
                          "humidity": units.get("relative_humidity_2m", "%")}}
