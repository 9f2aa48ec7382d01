"""Engine rows (``inference.outputs.schema.Row``) -> QGIS fields and features for feature sinks.

The Processing outputs carry exactly the columns of the GeoPackage the dock and the
command line write: field definitions and row values both come from the one schema.
"""

from __future__ import annotations

from qgis.core import QgsFeature, QgsField, QgsFields, QgsGeometry, QgsWkbTypes
from qgis.PyQt.QtCore import QDateTime, Qt, QVariant

_QT_TYPES = {"String": QVariant.String, "Integer": QVariant.Int, "Real": QVariant.Double,
             "DateTime": QVariant.DateTime, "Integer64": QVariant.LongLong}
_WKB_TYPES = {"Point": QgsWkbTypes.Point, "MultiPolygon": QgsWkbTypes.MultiPolygon,
              None: QgsWkbTypes.NoGeometry}


def qgs_fields(field_defs) -> QgsFields:
    fields = QgsFields()
    for f in field_defs:
        field = QgsField(f.name, _QT_TYPES[f.type])
        if f.width:
            field.setLength(f.width)
        fields.append(field)
    return fields


def wkb_type(geometry_name):
    return _WKB_TYPES[geometry_name]


def _qt_value(value, field_type: str):
    if value is None:
        return None
    if field_type == "DateTime":
        return QDateTime.fromString(str(value).replace("Z", "+00:00"), Qt.ISODate)
    return value


def to_feature(row, fields: QgsFields, field_types: dict, multipolygon: bool) -> QgsFeature:
    feature = QgsFeature(fields)
    for name, value in row.values.items():
        idx = fields.indexOf(name)
        if idx >= 0:
            feature.setAttribute(idx, _qt_value(value, field_types.get(name, "String")))
    geom = row.geometry
    if geom is not None and not geom.is_empty:
        qgs = QgsGeometry()
        qgs.fromWkb(geom.wkb)
        if multipolygon:
            qgs.convertToMultiType()
        feature.setGeometry(qgs)
    return feature
