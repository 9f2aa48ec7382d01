<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis hasScaleBasedVisibilityFlag="0" maxScale="0" minScale="100000000" simplifyAlgorithm="0" simplifyDrawingHints="1" simplifyDrawingTol="1" simplifyLocal="1" simplifyMaxScale="1" styleCategories="Symbology|Fields|MapTips|Rendering" symbologyReferenceScale="-1" version="3.22.16-Białowieża">
 <renderer-v2 attr="rank" enableorderby="0" forceraster="0" graduatedMethod="GraduatedColor" referencescale="-1" symbollevels="0" type="graduatedSymbol">
  <ranges>
   <range label="rank 1" lower="0.500000000000000" render="true" symbol="0" upper="1.500000000000000"></range>
   <range label="rank 2–3" lower="1.500000000000000" render="true" symbol="1" upper="3.500000000000000"></range>
   <range label="rank 4–5" lower="3.500000000000000" render="true" symbol="2" upper="5.500000000000000"></range>
   <range label="rank 6+" lower="5.500000000000000" render="true" symbol="3" upper="1000.500000000000000"></range>
  </ranges>
  <symbols>
   <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="0" type="marker">
    <data_defined_properties>
     <Option type="Map">
      <Option name="name" type="QString" value=""></Option>
      <Option name="properties"></Option>
      <Option name="type" type="QString" value="collection"></Option>
     </Option>
    </data_defined_properties>
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="angle" type="QString" value="0"></Option>
      <Option name="cap_style" type="QString" value="square"></Option>
      <Option name="color" type="QString" value="8,81,156,255"></Option>
      <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="name" type="QString" value="circle"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="255,255,255,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.3"></Option>
      <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="scale_method" type="QString" value="diameter"></Option>
      <Option name="size" type="QString" value="3.4"></Option>
      <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="size_unit" type="QString" value="MM"></Option>
      <Option name="vertical_anchor_point" type="QString" value="1"></Option>
     </Option>
     <prop k="angle" v="0"></prop>
     <prop k="cap_style" v="square"></prop>
     <prop k="color" v="8,81,156,255"></prop>
     <prop k="horizontal_anchor_point" v="1"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="name" v="circle"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="255,255,255,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.3"></prop>
     <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="outline_width_unit" v="MM"></prop>
     <prop k="scale_method" v="diameter"></prop>
     <prop k="size" v="3.4"></prop>
     <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="size_unit" v="MM"></prop>
     <prop k="vertical_anchor_point" v="1"></prop>
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
    </layer>
   </symbol>
   <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="1" type="marker">
    <data_defined_properties>
     <Option type="Map">
      <Option name="name" type="QString" value=""></Option>
      <Option name="properties"></Option>
      <Option name="type" type="QString" value="collection"></Option>
     </Option>
    </data_defined_properties>
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="angle" type="QString" value="0"></Option>
      <Option name="cap_style" type="QString" value="square"></Option>
      <Option name="color" type="QString" value="49,130,189,255"></Option>
      <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="name" type="QString" value="circle"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="255,255,255,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.3"></Option>
      <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="scale_method" type="QString" value="diameter"></Option>
      <Option name="size" type="QString" value="2.6"></Option>
      <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="size_unit" type="QString" value="MM"></Option>
      <Option name="vertical_anchor_point" type="QString" value="1"></Option>
     </Option>
     <prop k="angle" v="0"></prop>
     <prop k="cap_style" v="square"></prop>
     <prop k="color" v="49,130,189,255"></prop>
     <prop k="horizontal_anchor_point" v="1"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="name" v="circle"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="255,255,255,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.3"></prop>
     <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="outline_width_unit" v="MM"></prop>
     <prop k="scale_method" v="diameter"></prop>
     <prop k="size" v="2.6"></prop>
     <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="size_unit" v="MM"></prop>
     <prop k="vertical_anchor_point" v="1"></prop>
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
    </layer>
   </symbol>
   <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="2" type="marker">
    <data_defined_properties>
     <Option type="Map">
      <Option name="name" type="QString" value=""></Option>
      <Option name="properties"></Option>
      <Option name="type" type="QString" value="collection"></Option>
     </Option>
    </data_defined_properties>
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="angle" type="QString" value="0"></Option>
      <Option name="cap_style" type="QString" value="square"></Option>
      <Option name="color" type="QString" value="107,174,214,255"></Option>
      <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="name" type="QString" value="circle"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="255,255,255,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.3"></Option>
      <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="scale_method" type="QString" value="diameter"></Option>
      <Option name="size" type="QString" value="2"></Option>
      <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="size_unit" type="QString" value="MM"></Option>
      <Option name="vertical_anchor_point" type="QString" value="1"></Option>
     </Option>
     <prop k="angle" v="0"></prop>
     <prop k="cap_style" v="square"></prop>
     <prop k="color" v="107,174,214,255"></prop>
     <prop k="horizontal_anchor_point" v="1"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="name" v="circle"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="255,255,255,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.3"></prop>
     <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="outline_width_unit" v="MM"></prop>
     <prop k="scale_method" v="diameter"></prop>
     <prop k="size" v="2"></prop>
     <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="size_unit" v="MM"></prop>
     <prop k="vertical_anchor_point" v="1"></prop>
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
    </layer>
   </symbol>
   <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="3" type="marker">
    <data_defined_properties>
     <Option type="Map">
      <Option name="name" type="QString" value=""></Option>
      <Option name="properties"></Option>
      <Option name="type" type="QString" value="collection"></Option>
     </Option>
    </data_defined_properties>
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="angle" type="QString" value="0"></Option>
      <Option name="cap_style" type="QString" value="square"></Option>
      <Option name="color" type="QString" value="189,215,231,255"></Option>
      <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="name" type="QString" value="circle"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="255,255,255,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.3"></Option>
      <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="scale_method" type="QString" value="diameter"></Option>
      <Option name="size" type="QString" value="1.6"></Option>
      <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="size_unit" type="QString" value="MM"></Option>
      <Option name="vertical_anchor_point" type="QString" value="1"></Option>
     </Option>
     <prop k="angle" v="0"></prop>
     <prop k="cap_style" v="square"></prop>
     <prop k="color" v="189,215,231,255"></prop>
     <prop k="horizontal_anchor_point" v="1"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="name" v="circle"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="255,255,255,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.3"></prop>
     <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="outline_width_unit" v="MM"></prop>
     <prop k="scale_method" v="diameter"></prop>
     <prop k="size" v="1.6"></prop>
     <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="size_unit" v="MM"></prop>
     <prop k="vertical_anchor_point" v="1"></prop>
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
    </layer>
   </symbol>
  </symbols>
  <classificationMethod id="Custom">
   <symmetricMode astride="0" enabled="0" symmetrypoint="0"></symmetricMode>
   <labelFormat format="%1 - %2" labelprecision="4" trimtrailingzeroes="1"></labelFormat>
   <parameters>
    <Option></Option>
   </parameters>
   <extraInformation></extraInformation>
  </classificationMethod>
  <rotation></rotation>
  <sizescale></sizescale>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerOpacity>1</layerOpacity>
 <fieldConfiguration>
  <field configurationFlags="None" name="file_name"></field>
  <field configurationFlags="None" name="rank"></field>
  <field configurationFlags="None" name="probability"></field>
  <field configurationFlags="None" name="place"></field>
 </fieldConfiguration>
 <aliases>
  <alias field="file_name" index="0" name=""></alias>
  <alias field="rank" index="1" name=""></alias>
  <alias field="probability" index="2" name=""></alias>
  <alias field="place" index="3" name=""></alias>
 </aliases>
 <defaults>
  <default applyOnUpdate="0" expression="" field="file_name"></default>
  <default applyOnUpdate="0" expression="" field="rank"></default>
  <default applyOnUpdate="0" expression="" field="probability"></default>
  <default applyOnUpdate="0" expression="" field="place"></default>
 </defaults>
 <constraints>
  <constraint constraints="0" exp_strength="0" field="file_name" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="rank" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="probability" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="place" notnull_strength="0" unique_strength="0"></constraint>
 </constraints>
 <constraintExpressions>
  <constraint desc="" exp="" field="file_name"></constraint>
  <constraint desc="" exp="" field="rank"></constraint>
  <constraint desc="" exp="" field="probability"></constraint>
  <constraint desc="" exp="" field="place"></constraint>
 </constraintExpressions>
 <expressionfields></expressionfields>
 <mapTip>&lt;b&gt;[% "file_name" %]&lt;/b&gt;&lt;br&gt;rank [% "rank" %]: [% format_number("probability" * 100, 1) %]%&lt;br&gt;[% "place" %]</mapTip>
 <layerGeometryType>0</layerGeometryType>
</qgis>
